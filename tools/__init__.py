"""Command-line tools for people working on the stack (rendering manifests, mock deployments)."""
