# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/build-kube-binaries and e2e/cluster/build-node-binaries:
# a throwaway Go module that requires k8s.io/kubernetes and replaces every
# staging module it pins at v0.0.0 with its published tag, so that commands
# under k8s.io/kubernetes/cmd build from the Go module proxy.

# k8s_module DIR VERSION CMD... — writes DIR/go.mod and DIR/tools.go importing
# k8s.io/kubernetes/cmd/CMD for each CMD, and resolves the dependencies.
# Sets K8S_LDFLAGS to the flags that make the binaries report VERSION.
k8s_module() {
  local dir=$1 version=$2
  shift 2
  mkdir -p "$dir"
  local gomod minor staging goversion
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [[ -f "$gomod" ]] || { echo "could not download k8s.io/kubernetes v$version from the Go module proxy" >&2; return 1; }
  minor="${version#*.}"
  staging="v0.${minor}"
  goversion=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod" | head -1)
  {
    echo "module edgerep.io/kube-build"
    echo
    echo "go ${goversion}"
    echo
    echo "require k8s.io/kubernetes v$version"
    echo
    echo "replace ("
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" \
      | awk '{print $1}' | sort -u \
      | while read -r m; do echo "	$m => $m $staging"; done
    echo ")"
  } >"$dir/go.mod"
  [[ $(grep -c '=>' "$dir/go.mod") -gt 10 ]] || { echo "found no staging replacements in $gomod" >&2; return 1; }
  {
    echo "//go:build tools"
    echo
    echo "package tools"
    echo
    echo "import ("
    local c
    for c in "$@"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
    echo ")"
  } >"$dir/tools.go"
  (cd "$dir" && go mod tidy >/dev/null 2>tidy.err) || { tail -5 "$dir/tidy.err" >&2; echo "go mod tidy failed for k8s.io/kubernetes v$version" >&2; return 1; }
  local major_minor=${minor%%.*}
  K8S_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=v$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$major_minor -X k8s.io/component-base/version.gitTreeState=clean"
  K8S_LDFLAGS="$K8S_LDFLAGS -X k8s.io/client-go/pkg/version.gitVersion=v$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$major_minor"
}
