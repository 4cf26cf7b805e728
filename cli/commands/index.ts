// Every top-level `ncw` command, in the order `ncw --help` lists them.
// A command module lives in its own file under cli/commands/ and stays thin: parse, call ncw/, print.

import type { CommandModule } from "yargs";
import type { GlobalArgs } from "../context.js";
import { caCommand } from "./ca.js";
import { fsCommand } from "./fs.js";
import { homeCommand } from "./home.js";
import { inspectCommand } from "./inspect.js";
import { killCommand } from "./kill.js";
import { packCommand } from "./pack.js";
import { psCommand } from "./ps.js";
import { runCommand_ } from "./run.js";
import { skyerCommand } from "./skyer.js";

// biome-ignore lint/suspicious/noExplicitAny: yargs command modules are heterogeneous by design
export const commands: CommandModule<GlobalArgs, any>[] = [
  homeCommand,
  packCommand,
  inspectCommand,
  skyerCommand,
  caCommand,
  runCommand_,
  psCommand,
  killCommand,
  fsCommand,
];
