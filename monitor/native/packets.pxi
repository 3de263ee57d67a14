# packets kernels: wrappers over src/ (none yet)
