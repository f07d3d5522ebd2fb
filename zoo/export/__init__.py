"""SavedModels for TF Serving: serving modules with named signatures, versioned export."""

from zoo.export.savedmodel import export, export_run, next_version, write_models_config  # noqa: F401
