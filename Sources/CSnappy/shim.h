// CSnappy: Swift's view of libsnappy's C API (Debian: libsnappy-dev).
// Only the block format (snappy_compress / snappy_uncompress) is used: Prometheus remote write
// compresses each request body as one snappy block, not with the framed stream format.
#include <snappy-c.h>
