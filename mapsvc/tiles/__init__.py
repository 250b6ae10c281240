"""Vector and heat tiles from PostGIS, cached by data revision."""
