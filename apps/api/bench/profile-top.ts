/** `node bench/dist/bench/profile-top.js <file.cpuprofile> [n]`: the top `n` (30) by self time. */
import { readFile } from "node:fs/promises";
import { formatTopSelfTime, summariseProfile, type CpuProfile } from "./cpu-profile.js";

const [file, n = "30"] = process.argv.slice(2);
if (!file) throw new Error("Expected the path of a .cpuprofile");
const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
process.stdout.write(`${formatTopSelfTime(summariseProfile(profile), Number(n))}\n`);
