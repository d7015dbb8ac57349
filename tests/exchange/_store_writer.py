"""Subprocess of test_sqlite_store: writes batches to a store and prints each committed
batch's last frame index (flushed) after put_many returns, i.e. once acknowledged."""

import sys

from edgesdk.exchange import FrameRecord, open_store

path, batches, batch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = open_store(path, dimensions=8)
index = 0
for batch in range(batches):
    records = []
    for _ in range(batch_size):
        data = (index.to_bytes(8, "little") * 512)  # 4 KiB a frame
        records.append(FrameRecord("cam", index, 1000.0 + index, data, kind="key" if index % 8 == 0 else "P",
                                   features=[float(index % 7)] * 8))
        index += 1
    store.put_many(records)
    print(index - 1, flush=True)
