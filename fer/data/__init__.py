"""FER-2013 as tensors: finding and reading the dataset (load, csv_reader, folder_reader), its splits,
preprocessing and augmentation, and the LightningDataModule training uses (datamodule). Import the
modules themselves; this package imports nothing, so reading one never loads the rest."""
