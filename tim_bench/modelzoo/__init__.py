"""The model zoo: every shipped recipe with its published numbers and weights (``catalog``), and the verified
download of released weights into a per-user cache (``download``)."""
