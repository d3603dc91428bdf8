#!/bin/sh
# Compares alx_html with libxml2's HTML push parser and lexbor's tokenizer
# (bench/html/compare.c): MB/s in 1 B, 16 B and 8 KiB chunks, memory, and
# what each finds. Not part of the build.
#   bench/html/run.sh [seconds per measurement [copies of the page]]
# lexbor is used when LEXBOR_SRC names a lexbor source tree (its core, dom,
# ns, tag and html modules are compiled into $OUT/lexbor once).
set -e
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/alx-bench-html}
CC=${CC:-cc}
mkdir -p "$OUT"
flags="-O2 -std=gnu99 -Wall -Wextra $(pkg-config --cflags apr-1) $(xml2-config --cflags)"
libs="$(pkg-config --libs apr-1) $(xml2-config --libs)"
if [ -n "$LEXBOR_SRC" ]; then
    lib="$OUT/lexbor/liblexbor-html.a"
    if [ ! -f "$lib" ]; then
        mkdir -p "$OUT/lexbor"
        for f in $(find "$LEXBOR_SRC/source/lexbor/core" "$LEXBOR_SRC/source/lexbor/dom" \
                        "$LEXBOR_SRC/source/lexbor/ns" "$LEXBOR_SRC/source/lexbor/tag" \
                        "$LEXBOR_SRC/source/lexbor/html" "$LEXBOR_SRC/source/lexbor/ports/posix" \
                        -name '*.c'); do
            o="$OUT/lexbor/$(echo "$f" | sed "s|$LEXBOR_SRC/source/||; s|/|_|g; s|\.c\$|.o|")"
            $CC -O2 -DLEXBOR_STATIC -I"$LEXBOR_SRC/source" -c "$f" -o "$o"
        done
        ar rcs "$lib" "$OUT"/lexbor/*.o
    fi
    flags="$flags -DHAVE_LEXBOR -DLEXBOR_STATIC -I$LEXBOR_SRC/source"
    libs="$lib $libs"
fi
$CC $flags -o "$OUT/compare" "$here/compare.c" $libs
"$OUT/compare" "$@"
