"""The export stage: the one place that writes what ``overworld compose`` makes (MIDI, audio, stems, the
music pack's loop metadata, tracker modules, ``piece.json``, stingers), each piece into a staging folder
renamed into place when complete. Generation returns music; this package writes it."""

from overworld.export.folder import Staging, check_out_folder
from overworld.export.pack import MODULE_FORMATS, piece_folder_name, write_composition, write_pieces
from overworld.export.stingers import write_stingers

__all__ = [
    "MODULE_FORMATS",
    "Staging",
    "check_out_folder",
    "piece_folder_name",
    "write_composition",
    "write_pieces",
    "write_stingers",
]
