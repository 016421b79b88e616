"""Dataset export: the layouts trainers read, every clip decoded back before it is listed.

Layouts (``OUT`` is the export folder; the validation split only exists when asked for):

* ``pairs`` (diffusion-pipe, musubi-tuner, ai-toolkit): ``OUT/<key>.mp4`` + ``OUT/<key>.txt`` and
  ``OUT/metadata.jsonl`` (``{"video_path", "caption"}``); validation in ``OUT/val/`` alike.
* ``webvid`` (AnimateDiff's WebVid10M loader): ``OUT/videos/<key>.mp4`` and ``OUT/train.csv``
  (+ ``OUT/val.csv``) with columns ``videoid,contentUrl,duration,page_dir,name``.
* ``webdataset`` (video2dataset): ``OUT/train/00000.tar`` … with ``{key}.mp4``, ``{key}.txt`` and
  ``{key}.json`` per sample, plus ``OUT/val/…``.

Each run is deterministic (sorted keys, fixed tar metadata) and incremental: ``OUT/export.json``
remembers what every file was made from, so a re-run only re-encodes what changed and removes
what is no longer selected.  Every file is written to a temp name and renamed.  ``OUT/report.json``
says, per clip, what the target trainers will do with it.

Where things live: one module per layout (:mod:`.pairs`, :mod:`.webvid`, :mod:`.webdataset`);
:mod:`.settings` (:class:`ExportSettings`, the result types), :mod:`.selection` (which clips,
their keys, the split by source video), :mod:`.files` (atomic writes, re-encoding, decoding
back), :mod:`.manifest` (``export.json``, ``report.json``), :mod:`.trainers` (what AnimateDiff
and 4N+1 trainers do with each clip, and the totals), :mod:`.guard` (no file a person put in
OUT is overwritten: every target is checked before the first write) and :mod:`.stage`
(:func:`export_dataset`).  This module only re-exports what code outside the core
uses.
"""

from __future__ import annotations

from workstation.core.export.settings import ExportFormat, ExportResult, ExportSettings
from workstation.core.export.stage import export_dataset

__all__ = ["ExportFormat", "ExportResult", "ExportSettings", "export_dataset"]
