/**
 * V8 flags the daemon runs with (bin/scangate.js carries them in its `#!` line; whoever spawns `scangate` with
 * `node bin/scangate.js` passes them too).
 *
 * --max-semi-space-size=64 (MiB, default 16): a read lives from its decision until its event is durable (the
 * write group, the commit and the disk flush: 10-40 ms under load), and with the default young generation a
 * collection came every ~25 ms at 50,000 reads/s, so most reads in flight were copied once and promoted: ~50 MB/s
 * into the old generation, a seventh of the main thread in scavenges. With 64 MiB semi-spaces they die young:
 * promotion fell by half to two thirds and the scavenge time by 40% in the MQTT benchmark, for up to ~150 MiB
 * more memory at full rate. The price is longer pauses when the load is light: in the simulation at 2,500
 * reads/s the verdict p99 was 33-52 ms with 64 MiB against 20-29 ms with 16 MiB (two runs each; at 1,250
 * reads/s the gateway paused 5-28 ms for a collection about once a second), while at 10,000 reads/s 64 MiB did
 * better (one run each: p99 97 ms against 188-208 ms with 16 or 32 MiB).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
