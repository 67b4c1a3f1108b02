# syntax=docker/dockerfile:1
#
# utilreview's container image: a static binary on a non-root distroless runtime.
#
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" -t utilreview:"$(git describe --tags --always)" .
#
# The build stage runs `make build`, the same target CI and developers run, so how the binary is built (static,
# CGO_ENABLED=0, -trimpath, version and commit stamped by ldflags) is written once, in the Makefile. .git is not in
# the build context (.dockerignore), so VERSION and COMMIT come in as build arguments; `utilreview version` prints
# them.
#
# Base images are pinned by tag (for the reader) and by digest (what is pulled). No registry is reachable where this
# file was written, so the digests could not be resolved here: each is the multi-architecture index digest the tag
# resolved to at its publisher's registry, as recorded by public projects pinning the same tag (see the README,
# "Deploy"). Tags such as these are rebuilt by their publishers (Debian security updates), so an operator refreshes
# a digest before a release with either of
#   crane digest golang:1.26.8-bookworm
#   docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot --format '{{json .Manifest.Digest}}'
# and replaces the @sha256: part (the test cmd/utilreview/k8s_test.go checks its form, not its value).

# golang:1.26.8-bookworm (Docker Official Image, Docker Hub library/golang); the Go of go.mod.
FROM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
# Modules first: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN make build VERSION="${VERSION}" COMMIT="${COMMIT}" BIN=/out/utilreview

# gcr.io/distroless/static-debian12:nonroot (Google distroless): no shell, no package manager; CA certificates and
# tzdata (the facility time zone, UTILREVIEW_TZ) included. Its nonroot user is uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/utilreview /utilreview
# The rule sets and reference tables are embedded in the binary (service/rules/defaults); a mounted directory named
# by UTILREVIEW_RULES_DIR overrides them (k8s/: a ConfigMap at /rules).
# Numeric, not "nonroot": the kubelet can verify runAsNonRoot only for a numeric user.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/utilreview"]
CMD ["serve"]
