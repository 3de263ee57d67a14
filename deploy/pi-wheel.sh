#!/usr/bin/env bash
# Cross-builds gatewatch's wheel, compiled core included, for a Raspberry Pi with a 64-bit OS
# (aarch64; Raspberry Pi OS or Debian 12 "bookworm", whose Python is 3.11), on an x86-64 Debian
# machine, and checks it under emulation:
#   - the aarch64 Python headers come from Debian's libpython3.11-dev:arm64 (multiarch, as root);
#   - Debian's gcc-aarch64-linux-gnu compiles the core (Cython's C and the kernels);
#   - the wheel and its dependencies' aarch64 wheels (PyPI) are installed into a folder, and
#     Debian's python3.11:arm64 runs `gatewatch --version` (it must say core native) and
#     `gatewatch decode` of a seed's CAN log under qemu-aarch64-static, whose output must equal
#     this machine's.
# Usage: deploy/pi-wheel.sh PYTHON OUT_DIR   (make pi-wheel)
# On the Pi itself no cross-build is needed: `apt install build-essential python3-dev` and
# `pip install .` from the checkout builds the core from source.
set -euo pipefail
python=${1:-.venv/bin/python}
out=${2:-dist/pi}
work=out/pi-build
sysroot=$work/sysroot
packages=(libpython3.11-dev python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 libexpat1 zlib1g libffi8
          libstdc++6 libssl3 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1 libncursesw6 libtinfo6 libreadline8 libcrypt1 libgcc-s1
          libnsl2 libtirpc3 libdb5.3 libkrb5-3 libgssapi-krb5-2 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1)

"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || { echo "pi-wheel: $python must be Python 3.11 (the Pi's bookworm Python) to tag the wheel cp311" >&2; exit 2; }
for tool in aarch64-linux-gnu-gcc qemu-aarch64-static dpkg apt-get; do
    command -v "$tool" >/dev/null || { echo "pi-wheel: $tool is missing (Debian: gcc-aarch64-linux-gnu qemu-user-static)" >&2; exit 2; }
done

if [ "$(cat "$sysroot/.packages" 2>/dev/null)" != "${packages[*]}" ]; then  # made once, again when the list changes
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        [ "$(id -u)" = 0 ] || { echo "pi-wheel: run once as root to add Debian's arm64 architecture" >&2; exit 2; }
        dpkg --add-architecture arm64
    fi
    apt-get update -qq
    rm -rf "$work/debs" "$sysroot" && mkdir -p "$work/debs" "$sysroot"
    (cd "$work/debs" && apt-get download -qq "${packages[@]/%/:arm64}")
    for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$sysroot"; done
    echo "${packages[*]}" > "$sysroot/.packages"
fi

include="-I$PWD/$sysroot/usr/include -I$PWD/$sysroot/usr/include/python3.11 -I$PWD/$sysroot/usr/include/aarch64-linux-gnu/python3.11"
rm -rf "$out" && mkdir -p "$out"
# The aarch64 headers come first on the command line, so they win over this machine's; the
# suffix and platform are the Pi's, so the wheel is tagged and named for it.
CC=aarch64-linux-gnu-gcc LDSHARED="aarch64-linux-gnu-gcc -shared" CFLAGS="$include" LDFLAGS="" \
SETUPTOOLS_EXT_SUFFIX=.cpython-311-aarch64-linux-gnu.so _PYTHON_HOST_PLATFORM=linux-aarch64 \
GATEWATCH_NATIVE_REQUIRED=1 "$python" -m pip wheel -q --no-deps -w "$out" .
wheel=$(ls "$out"/gatewatch-*-linux_aarch64.whl)
echo "pi-wheel: built $wheel"

# The check: the wheel and its dependencies for aarch64, run by Debian's arm64 Python under qemu.
site=$work/site
rm -rf "$site"
"$python" -m pip install -q --target "$site" --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 \
    --platform linux_aarch64 --python-version 3.11 --implementation cp --only-binary=:all: "$wheel"
mkdir -p "$work/elsewhere"  # run outside the checkout, so `-m monitor` finds the wheel's package, not this one
run_pi() { (cd "$work/elsewhere" && PYTHONPATH="$OLDPWD/$site" PYTHONNOUSERSITE=1 \
            qemu-aarch64-static -L "$OLDPWD/$sysroot" "$OLDPWD/$sysroot/usr/bin/python3.11" -m monitor "$@"); }
version=$(run_pi --version)
echo "pi-wheel: under qemu-aarch64: $version"
case "$version" in *"core native"*) ;; *) echo "pi-wheel: the aarch64 wheel does not run its native core" >&2; exit 1;; esac
log=$PWD/seeds/gnss-drive/can.log
dbc=(--dbc gnss)
run_pi decode "${dbc[@]}" "$log" > "$work/decoded-aarch64.jsonl"
"$python" -m monitor decode "${dbc[@]}" "$log" > "$work/decoded-host.jsonl"
cmp "$work/decoded-aarch64.jsonl" "$work/decoded-host.jsonl" \
    || { echo "pi-wheel: aarch64 and host decode $log differently" >&2; exit 1; }
echo "pi-wheel: $(wc -l < "$work/decoded-host.jsonl") decoded values of $log identical on aarch64 (qemu) and this machine"
capture=$PWD/seeds/dashcam-video/capture.pcap
run_pi flows --format jsonl "$capture" | sort > "$work/flows-aarch64.jsonl"
"$python" -m monitor flows --format jsonl "$capture" | sort > "$work/flows-host.jsonl"
cmp "$work/flows-aarch64.jsonl" "$work/flows-host.jsonl" || { echo "pi-wheel: aarch64 and host flows of $capture differ" >&2; exit 1; }
echo "pi-wheel: $(wc -l < "$work/flows-host.jsonl") flow records of $capture identical on aarch64 (qemu) and this machine"
