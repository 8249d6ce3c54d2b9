// The ZooKeeper client protocol codec in one include: constants, Reader/Writer, the generated
// records, framing, and typed requests and replies. See coord/README.md ("jute").
#pragma once

#include "coord/jute/codec.h"
#include "coord/jute/constants.h"
#include "coord/jute/frame.h"
#include "coord/jute/messages.h"
#include "coord/jute/reader.h"
#include "coord/jute/records.h"
#include "coord/jute/writer.h"
