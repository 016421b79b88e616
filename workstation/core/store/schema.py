"""The project database's schema: the migrations that build it, version by version.

Kept apart from the code that reads and writes rows, so a schema change is one appended entry
in one place (and the shipped entries are easy to see and leave alone).
"""

from __future__ import annotations

DB_NAME = "project.wsdb"

# Each entry migrates the schema from version i to i+1.  Never edit a shipped entry: append.
MIGRATIONS: list[str] = [
    # 0 -> 1: the initial schema, designed for the later stages (tags, captions, jobs) too.
    """
    CREATE TABLE videos (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,
        content_id    TEXT NOT NULL,
        size_bytes    INTEGER NOT NULL,
        fps_num       INTEGER NOT NULL,
        fps_den       INTEGER NOT NULL,
        frame_count   INTEGER NOT NULL,
        duration      REAL NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        rotation      INTEGER NOT NULL DEFAULT 0,
        vfr           INTEGER NOT NULL DEFAULT 0,
        codec         TEXT NOT NULL DEFAULT '',
        pix_fmt       TEXT NOT NULL DEFAULT '',
        tb_num        INTEGER NOT NULL DEFAULT 1,
        tb_den        INTEGER NOT NULL DEFAULT 1,
        has_audio     INTEGER NOT NULL DEFAULT 0,
        frame_pts     BLOB,            -- int64 presentation timestamps of every frame
        keyframes     BLOB,            -- int32 frame numbers of keyframes
        cuts_reviewed INTEGER NOT NULL DEFAULT 0,
        added_at      REAL NOT NULL
    );
    CREATE INDEX videos_content ON videos(content_id);

    -- One row per detection run; the latest finished one per video is current.
    CREATE TABLE detections (
        id            INTEGER PRIMARY KEY,
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        detector      TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        threshold     REAL,
        frames_done   INTEGER NOT NULL DEFAULT 0,
        state         TEXT NOT NULL DEFAULT 'running',   -- running|done|cancelled|failed
        started_at    REAL NOT NULL,
        finished_at   REAL
    );
    -- Per-frame scores of a detection run, kept in chunks so a run can resume.
    CREATE TABLE frame_scores (
        detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
        name          TEXT NOT NULL,          -- which curve (e.g. 'score', 'luma')
        chunk         INTEGER NOT NULL,       -- first frame of the chunk
        data          BLOB NOT NULL,          -- float32 values
        PRIMARY KEY (detection_id, name, chunk)
    );

    -- A cut is the frame number of the first frame of a new shot.
    CREATE TABLE cuts (
        id            INTEGER PRIMARY KEY,
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        frame         INTEGER NOT NULL CHECK (frame > 0),
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        detector      TEXT,
        params        TEXT NOT NULL DEFAULT '{}',
        score         REAL,
        kind          TEXT NOT NULL DEFAULT 'cut',   -- cut|fade|dissolve
        span_start    INTEGER,                       -- transition extent, if any
        span_end      INTEGER,
        uncertain     INTEGER NOT NULL DEFAULT 0,
        deleted       INTEGER NOT NULL DEFAULT 0,    -- a tombstone: the user removed an auto cut
        created_at    REAL NOT NULL,
        UNIQUE (video_id, frame)
    );

    -- Keep/reject flags of segments, keyed by the segment's first frame.
    CREATE TABLE segments (
        video_id      INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        start_frame   INTEGER NOT NULL,
        keep          INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (video_id, start_frame)
    );

    CREATE TABLE clips (
        id            INTEGER PRIMARY KEY,
        path          TEXT NOT NULL UNIQUE,   -- relative to the project folder when inside it
        video_id      INTEGER REFERENCES videos(id) ON DELETE SET NULL,
        start_frame   INTEGER,                -- source frame range [start, end)
        end_frame     INTEGER,
        fps_num       INTEGER NOT NULL,
        fps_den       INTEGER NOT NULL,
        frame_count   INTEGER NOT NULL,
        width         INTEGER NOT NULL,
        height        INTEGER NOT NULL,
        duration      REAL NOT NULL,
        settings      TEXT NOT NULL DEFAULT '{}',
        verified      INTEGER,                -- NULL = not checked, 1 = ok, 0 = failed
        verify_error  TEXT,
        reviewed      INTEGER NOT NULL DEFAULT 0,
        motion        REAL,
        created_at    REAL NOT NULL
    );
    CREATE INDEX clips_video ON clips(video_id, start_frame);

    CREATE TABLE tags (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        category      TEXT NOT NULL DEFAULT 'general'  -- rating|character|general|meta
    );
    CREATE TABLE clip_tags (
        clip_id       INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        tag_id        INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        confidence    REAL,
        model         TEXT,
        threshold     REAL,
        aggregation   TEXT,
        state         TEXT NOT NULL DEFAULT 'active',  -- active|accepted|rejected
        position      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (clip_id, tag_id)
    );
    CREATE INDEX clip_tags_tag ON clip_tags(tag_id);

    CREATE TABLE captions (
        clip_id       INTEGER PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
        text          TEXT NOT NULL,
        source        TEXT NOT NULL CHECK (source IN ('auto', 'manual')),
        model         TEXT,
        prompt        TEXT,
        updated_at    REAL NOT NULL
    );

    CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY,
        stage         TEXT NOT NULL,
        target        TEXT NOT NULL DEFAULT '',
        params        TEXT NOT NULL DEFAULT '{}',
        state         TEXT NOT NULL DEFAULT 'running',   -- running|done|cancelled|failed
        done          INTEGER NOT NULL DEFAULT 0,
        total         INTEGER,
        error         TEXT,
        started_at    REAL NOT NULL,
        finished_at   REAL
    );

    CREATE TABLE settings (
        key           TEXT PRIMARY KEY,
        value         TEXT NOT NULL
    );
    """,
    # 1 -> 2: every settings value is JSON (see store/settings.py); the device for local
    # models was stored as the bare word (auto, cpu or cuda, the only values ever written).
    """
    UPDATE settings SET value = '"' || value || '"'
    WHERE key = 'autotag.device' AND value IN ('auto', 'cpu', 'cuda');
    """,
    # 2 -> 3: the files the workstation wrote into folders people use too (cut sidecars beside
    # videos, clip .txt), with the checksum of what it wrote (core/owned.py).
    """
    CREATE TABLE written_files (
        path          TEXT PRIMARY KEY,
        size          INTEGER NOT NULL,
        sha256        TEXT NOT NULL,
        previous      TEXT,               -- the file's checksum before this write
        written_at    REAL NOT NULL
    );
    """,
    # 3 -> 4: a person can reject a clip (hidden from the grid, left out of exports and
    # auto-tagging; its row, tags and caption stay, so the rejection can be undone).
    """
    ALTER TABLE clips ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
    """,
    # 4 -> 5: the Hydrus mirror (core/hydrus, issue 16): the link (one row; the access key is
    # a file, never here), each clip's state as last synced, the outbox of changes not yet
    # durable in Hydrus, open conflicts; ``origin`` marks tags and captions a pull wrote.
    """
    CREATE TABLE hydrus_link (
        id                INTEGER PRIMARY KEY CHECK (id = 1),
        url               TEXT NOT NULL,
        tag_service_key   TEXT NOT NULL,
        tag_service_name  TEXT NOT NULL DEFAULT '',
        file_service_key  TEXT,
        file_service_name TEXT,
        note_name         TEXT NOT NULL DEFAULT 'caption',
        namespaces        TEXT NOT NULL DEFAULT '{}',   -- category -> namespace (JSON)
        source_tags       INTEGER NOT NULL DEFAULT 0,
        last_sync         REAL,
        state             TEXT NOT NULL DEFAULT 'never',  -- how the last contact went
        last_error        TEXT
    );
    CREATE TABLE hydrus_clips (
        clip_id       INTEGER PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
        sha256        TEXT NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        state         TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'mirrored', 'deleted')),
        tags          TEXT NOT NULL DEFAULT '[]',   -- storage tags as last synced (JSON)
        note          TEXT,                         -- the note as last synced
        synced_at     REAL
    );
    CREATE INDEX hydrus_clips_sha ON hydrus_clips(sha256);
    CREATE TABLE hydrus_outbox (
        id            INTEGER PRIMARY KEY,
        clip_id       INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        kind          TEXT NOT NULL CHECK (kind IN ('file', 'tags', 'note')),
        payload       TEXT NOT NULL,                -- JSON
        sent          INTEGER NOT NULL DEFAULT 0,   -- answered 200, not force-committed yet
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        queued_at     REAL NOT NULL,
        UNIQUE (clip_id, kind)
    );
    CREATE TABLE hydrus_conflicts (
        id            INTEGER PRIMARY KEY,
        clip_id       INTEGER NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
        kind          TEXT NOT NULL CHECK (kind IN ('tags', 'note')),
        base          TEXT,
        ours          TEXT,
        theirs        TEXT,
        found_at      REAL NOT NULL,
        UNIQUE (clip_id, kind)
    );
    ALTER TABLE clip_tags ADD COLUMN origin TEXT;
    ALTER TABLE captions ADD COLUMN origin TEXT;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside our literals)."""
    lines = [ln.split("--", 1)[0] for ln in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
