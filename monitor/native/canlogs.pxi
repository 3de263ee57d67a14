# canlogs kernels: wrappers over src/ (none yet)
