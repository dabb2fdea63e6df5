# syntax=docker/dockerfile:1
# Multi-stage: build the single executable on the official Bun image, run it as a non-root user.
FROM oven/bun:1.4 AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile
COPY . .
RUN bun run build /out/aigc-server

FROM debian:bookworm-slim
# ffmpeg is needed only when t2v/i2v are routed to a remote provider with AIGC_LABEL=full or MODERATION=openai
# (README "Content safety and labelling"): docker build --build-arg WITH_FFMPEG=1 .
ARG WITH_FFMPEG=0
RUN if [ "$WITH_FFMPEG" = 1 ]; then apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*; fi
RUN useradd --system --uid 10001 --home-dir /data aigc && mkdir -p /data && chown aigc /data
COPY --from=build /out/aigc-server /usr/local/bin/aigc-server
USER aigc
ENV DATA_DIR=/data PORT=3000
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '\"code\":200' <&3"]
ENTRYPOINT ["/usr/local/bin/aigc-server"]
