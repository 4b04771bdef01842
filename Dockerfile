FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server server
COPY collab collab
COPY persistence persistence
COPY auth auth
COPY web web
RUN pip install --no-cache-dir .
ENV COLLAB_HOST=0.0.0.0 COLLAB_PORT=8000
EXPOSE 8000
CMD ["collab", "serve"]
