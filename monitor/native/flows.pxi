# flows kernels: wrappers over src/ (none yet)
