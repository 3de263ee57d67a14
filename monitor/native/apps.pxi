# apps kernels: wrappers over src/ (none yet)
