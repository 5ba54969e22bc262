// Entry of `npx dermlens` (bin/dermlens.js imports this file): runs the command line and sets the exit code.
import { main } from './commands.ts';

process.exitCode = await main(process.argv.slice(2));
