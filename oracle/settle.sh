# Sourced by the regen scripts: settle NEW FIXTURE keeps NEW as FIXTURE and says whether it changed
# (path shown relative to $root); a change sets status=1, so that the script exits non-zero.
settle() {
  local new=$1 fixture=$2
  if [ -f "$fixture" ] && cmp -s "$new" "$fixture"; then
    echo "  same     ${fixture#"$root"/}"
  else
    cp "$new" "$fixture"
    echo "  CHANGED  ${fixture#"$root"/}"
    status=1
  fi
}
