"""Extract Norce Query API 2.0 data into typed DuckDB raw tables."""
