#!/usr/bin/env bash
# Fetch GraphiQL and React (UMD builds) from the npm registry and copy them, with their
# licences, into schema/static/graphiql/, where the app serves them: GraphiQL then works
# without internet and loads nothing from a CDN. The files are committed; run this only
# to change the versions below (needs npm).
set -euo pipefail
GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/schema/static/graphiql"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
for archive in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
  package="${archive%-*}"
  mkdir -p "$package" && tar -xzf "$archive.tgz" -C "$package" --strip-components=1
done
mkdir -p "$out"
cp graphiql/graphiql.min.js graphiql/graphiql.min.css "$out/"
cp react/umd/react.production.min.js react-dom/umd/react-dom.production.min.js "$out/"
cp graphiql/LICENSE "$out/LICENSE.graphiql"
cp react/LICENSE "$out/LICENSE.react"
cp react-dom/LICENSE "$out/LICENSE.react-dom"
# the bundle points at a source map that is not shipped; drop the reference
sed -i 's#//\# sourceMappingURL=.*$##' "$out/graphiql.min.js"
cat > "$out/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL_VERSION (npm), react $REACT_VERSION (npm), react-dom $REACT_VERSION (npm)
fetched by .ci/graphiql-assets.sh
VERSIONS
echo "GraphiQL $GRAPHIQL_VERSION, React $REACT_VERSION in $out"
