#!/usr/bin/env bash
# Set up storyteller in ./.venv on a fresh Debian/Ubuntu machine with Python 3.11.
#   bash scripts/setup.sh          the embedded default (runs offline afterwards)
#   bash scripts/setup.sh --test   plus every extra and what the test suite needs
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

python=${PYTHON:-python3}
LLAMA_CPP_VERSION=0.3.36  # the version pyproject.toml's embedded extra pins
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build. On the project's machines a
# CPU wheel of 2.13.0 lies on disk and pip takes it; elsewhere add
# --index-url https://download.pytorch.org/whl/cpu for the CPU build.
"${pip[@]}" --upgrade pip setuptools wheel
"${pip[@]}" "torch==2.13.0"

extras="embedded"
[ $with_tests = 1 ] && extras="embedded,vision,diffusion,tts,openai,export,ray,test"
# llama-cpp-python has no wheel on PyPI: it compiles (about 6 minutes on 2 cores). On x86-64 it is
# built for the vector instructions this CPU has (AVX2, and AVX-512 where present: twice the
# prompt speed of AVX2 here) but not with -march=native, which would also turn on llama.cpp's AMX
# kernels on a CPU that reports AMX, and under a VM such as this project's machines (a Xeon under
# Firecracker) those crash the process on the first batch of tokens. The wheel is kept in
# storyteller's cache folder, so a new venv installs it without compiling again (pip's own cache
# would hand back a native build).
if ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  wheels="${STORYTELLER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/storyteller}/wheels"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    cmake_args="${CMAKE_ARGS:-}"
    if [ "$(uname -m)" = x86_64 ]; then
      cpu=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
      cmake_args="-DGGML_NATIVE=OFF $cmake_args"
      for pair in avx512f:AVX512 avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16 avx_vnni:AVX_VNNI; do
        [[ "$cpu" == *" ${pair%%:*} "* ]] && cmake_args="$cmake_args -DGGML_${pair#*:}=ON"
      done
    fi
    CMAKE_ARGS="$cmake_args" .venv/bin/python -m pip wheel --quiet --disable-pip-version-check --no-deps --no-cache-dir \
      -w "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION"
  fi
  "${pip[@]}" --no-deps "$wheels"/llama_cpp_python-*.whl
fi
"${pip[@]}" -e ".[$extras]"

if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); elif sudo -n true 2>/dev/null; then apt_get=(sudo -n apt-get); else apt_get=(); fi

# The embedded voices beyond Piper's: flite's speakers, and espeak-ng's phonemes for Kokoro's
# English and its Mandarin voice; a font with Chinese glyphs for pictures and subtitles of
# Chinese stories. Without them the narrator offers fewer voices and `storyteller doctor` says which.
if ! command -v flite >/dev/null || ! command -v espeak-ng >/dev/null || ! [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  if [ ${#apt_get[@]} -gt 0 ] && "${apt_get[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq flite espeak-ng fonts-wqy-microhei >/dev/null; then
    :
  else
    echo "note: could not install flite, espeak-ng and fonts-wqy-microhei from Debian (not root, no sudo, or no such packages):" \
         "the narrator offers Piper and hibari voices only and Chinese text has no font (sudo apt-get install flite espeak-ng fonts-wqy-microhei adds them)" >&2
  fi
fi

# The embedded composer's player: FluidSynth and a General MIDI soundfont (FluidR3). Without them
# `storyteller score` says how to add them, and stories have no music.
if ! command -v fluidsynth >/dev/null || ! [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then
  if [ ${#apt_get[@]} -gt 0 ] && "${apt_get[@]}" update -qq && DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm >/dev/null; then
    :
  else
    echo "note: could not install fluidsynth and fluid-soundfont-gm from Debian: \`storyteller score\` (music) needs them" \
         "(sudo apt-get install fluidsynth fluid-soundfont-gm)" >&2
  fi
fi

if [ $with_tests = 1 ]; then
  # The browser and EPUB checks use Debian's Chromium and epubcheck (never a downloaded browser).
  if ! command -v chromium >/dev/null || ! [ -f /usr/share/java/epubcheck.jar ]; then
    if [ ${#apt_get[@]} -gt 0 ]; then
      "${apt_get[@]}" update -qq
      DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq chromium epubcheck >/dev/null
    else
      echo "note: not root and no sudo: browser and epubcheck tests will be skipped (apt-get install chromium epubcheck)" >&2
    fi
  fi
fi
echo "storyteller is set up in .venv ($(.venv/bin/python -c 'import storyteller; print(storyteller.__version__)'))"
