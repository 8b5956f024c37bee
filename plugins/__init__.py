"""First-party plugins: datasets, feature sources and heads, each registered on its own."""
