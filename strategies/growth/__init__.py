"""E-commerce growth analytics: analysis-ready table SQL, personas, lift per persona."""
