# can kernels: wrappers over src/ (none yet)
