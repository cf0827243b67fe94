// The local secrets `make dev` wrote to .dev.vars, for the simulators and demo scripts.
import { readFileSync } from "node:fs";

export function devVars(path = ".dev.vars") {
  return Object.fromEntries(
    readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}
