"""The boto3-shaped surface: service models, validation, exceptions and the clients."""
