FROM python:3.12-slim
WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY schema ./schema
COPY projections ./projections
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["crm-gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
