# syntax=docker/dockerfile:1
# nhiscan as a container: a static binary (CGO_ENABLED=0, the same flags as
# `make build`; deploy/deploy_test.go checks they match) on a distroless
# base, running as a non-root user, made for a read-only root filesystem:
# the only writable place is /var/lib/nhiscan (the SQLite database, its lock
# and the revocation notices), mounted as a volume.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t nhiscan .
#   docker run --read-only -v nhiscan-data:/var/lib/nhiscan -v $PWD/nhiscan.yaml:/etc/nhiscan/nhiscan.yaml:ro nhiscan serve

FROM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.Version=${VERSION}" -o /out/nhiscan ./cmd/nhiscan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nhiscan /usr/local/bin/nhiscan
# distroless's nonroot user; the database volume must be writable by it.
USER 65532:65532
WORKDIR /var/lib/nhiscan
VOLUME ["/var/lib/nhiscan"]
ENV NHISCAN_CONFIG=/etc/nhiscan/nhiscan.yaml \
    NHISCAN_LOG_FORMAT=json
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/nhiscan"]
CMD ["serve"]
