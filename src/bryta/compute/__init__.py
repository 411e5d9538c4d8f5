"""Pure computation: frames in, frames out. Never imports ingest, warehouse, registry or app."""
