# live kernels: wrappers over src/ (none yet)
