"""One module per pipeline component; each builds its resources and its own IAM role."""
