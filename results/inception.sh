# Sourced by the device scripts: sets INCEPTION to the FID network carried in .devcarry/ and unpacks
# it when it travelled xz-packed (the tracked tree and the unpacked network together exceed the
# 64 MiB that travels to the device).
INCEPTION=.devcarry/inception-2015-12-05-fp16.pt
if [[ ! -f $INCEPTION && -f $INCEPTION.xz ]]; then
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$INCEPTION.xz" "$INCEPTION"
fi
