"""Pure computations: frames in, frames out. Never imports the storage layer."""
