# One image for the web process and the broadcast worker.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md config.yml ./
COPY bot ./bot
COPY actions ./actions
COPY nlu_data ./nlu_data
RUN pip install -q .
EXPOSE 5005
CMD ["python", "-m", "bot", "serve", "--host", "0.0.0.0", "--port", "5005"]
