import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("protocol - regenerating the codecs from the .proto changes nothing (gen.mjs --check)", () => {
  const res = spawnSync(process.execPath, ["protocol/gen.mjs", "--check"], { cwd: ROOT, encoding: "utf8" });
  assert.is(res.error, undefined);
  assert.is(res.status, 0, `gen.mjs --check exited ${res.status}:\n${res.stdout}${res.stderr}`);
});

test.run();
