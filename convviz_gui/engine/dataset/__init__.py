"""What a model learned across a folder of images (issue 24): the scan is a map over
shards of image files with mergeable summaries, then a finish step.

- ``results``: the plain result pieces (mistakes, clusters, channel top images).
- ``folder``: the images of a folder, labelled by subfolder or flat, classes matched.
- ``summary``: ``Summary`` of one shard and ``merge`` (associative, commutative).
- ``shard``: ``scan_shard(loaded, files, settings) -> Summary`` (the function Ray maps).
- ``clusters``: spectral relevance analysis of the per-class maps (Lapuschkin 2019).
- ``receptive``: the receptive field of a layer's unit, from the graph.
- ``cache``: per-shard summaries on disk, so a scan resumes and reopens instantly.

No Qt, no matplotlib; TensorFlow only inside the functions that run the model.
"""
