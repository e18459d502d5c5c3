/**
 * The `jepa-native` command line (bin/jepa-native.js): `inspect`, `convert`, `masks`, `extract`,
 * `train`, `bench`, `launch`, `motion`, `zero-shot`. Built with commander; each command lives in its own file and registers itself here,
 * so that new ones (a `launch` for multi-process runs, say) are one more entry in `COMMANDS`.
 *
 * Exit codes: 0 done, 1 error, 2 bad command line, 3 `extract` finished with some inputs
 * skipped as bad. See docs/cli.md.
 * (Internal to the package.)
 * @module
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { bench } from './bench';
import {
  CliError,
  errorText,
  EXIT,
  finiteNumber,
  intList,
  jsonObject,
  nonNegativeInt,
  numberList,
  positiveInt,
  processIo,
  sizeArg,
  type Io,
  type TensorFormat,
} from './common';
import { convert } from './convert';
import { exportCommand } from './export';
import { demo } from './demo';
import { extract } from './extract';
import { inspect } from './inspect';
import { launchCommand } from './launch';
import { MASK_KINDS, masks } from './masks';
import { registerMotion } from './motion';
import { registerZeroShot } from './zero-shot';
import { train } from './train';

/** State shared by the commands of one run. */
interface Context {
  io: Io;
  /** The exit code a command chose (0 unless set). */
  exitCode: number;
  /** Arguments after `--` (passed through by `bench`). */
  rest: string[];
}

const FORMATS: TensorFormat[] = ['pt', 'safetensors', 'npy'];

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function registerInspect(program: Command, ctx: Context): void {
  program
    .command('inspect')
    .description(
      'print the tree of keys of a .pt, safetensors or .npy file (or a TorchScript module) with dtype, shape and bytes',
    )
    .argument('<file>', 'the file to inspect')
    .option(
      '--json',
      'print JSON: {file, format, fileBytes, tensors, tensorBytes, entries: [{key, type, dtype, shape, nbytes, value}]}',
    )
    .action(async (file: string, opts: { json?: boolean }) => {
      await inspect(file, opts, ctx.io);
    });
}

function registerConvert(program: Command, ctx: Context): void {
  program
    .command('convert')
    .description('convert between .pt (torch.save), safetensors and .npy, by extension')
    .argument('<in>', 'input file')
    .argument('<out>', 'output file (.pt, .pth, .safetensors or .npy)')
    .addOption(new Option('--from <format>', 'input format (default: from the file)').choices(FORMATS))
    .addOption(new Option('--to <format>', 'output format (default: from the extension)').choices(FORMATS))
    .option('--key <key>', 'the tensor to write to .npy (a dotted key), or the key of an .npy tensor in the output')
    .option('--dtype <dtype>', 'cast floating-point tensors, e.g. float16')
    .option('--keep-metadata', 'safetensors to .pt: keep the __metadata__ strings under the key __metadata__')
    .action(async (input: string, output: string, opts: Record<string, unknown>) => {
      await convert(input, output, opts, ctx.io);
    });
}

function registerMasks(program: Command, ctx: Context): void {
  program
    .command('masks')
    .description('sample one batch of JEPA masks with a configuration, print a summary and render it as a PNG')
    .addArgument(program.createArgument('<kind>', 'sampler').choices(MASK_KINDS))
    .option(
      '--preset <name>',
      'start from a preset: ijepaImageNet (multiblock), vjepaShortRange, vjepaLongRange (multiblock3d)',
    )
    .option('--batch-size <n>', 'samples in the batch', positiveInt, 4)
    .option('--input-size <size>', 'image / frame size in pixels, N or HxW (default 224)', sizeArg)
    .option('--patch-size <n>', 'patch size in pixels (default 16)', positiveInt)
    .option('--num-frames <n>', 'frames per clip (video masks; default 16)', positiveInt)
    .option('--tubelet-size <n>', 'frames per tubelet (video masks; default 2)', positiveInt)
    .option('--seed <n>', 'block-size step counter (multiblock, multiblock3d; default 0)', nonNegativeInt)
    .option('--position-seed <n>', 'seed of the block positions (default 0)', nonNegativeInt)
    .option('--options <json>', 'more sampler options as JSON, e.g. \'{"npred": 4, "minKeep": 10}\'', jsonObject)
    .option('--png <file>', 'write the picture of the masks to this PNG file')
    .option('--samples <n>', 'rows (samples) drawn in the PNG (default: the batch, at most 8)', positiveInt)
    .option('--cell-size <n>', 'pixels per patch in the PNG (default 8)', positiveInt)
    .option('--json', 'print the summary as JSON')
    .action(async (kind: string, opts: Record<string, unknown>) => {
      await masks(kind, opts, ctx.io);
    });
}

function registerExtract(program: Command, ctx: Context): void {
  program
    .command('extract')
    .description(
      'run an encoder (an exported model folder or a TorchScript file) over a folder of images, videos or feature files and write one feature file per input (seed 000 layout)',
    )
    .argument(
      '<model>',
      'a folder written by `jepa-native export` (jepa.json names the encoder, input and preset) or a TorchScript file',
    )
    .argument('<input-dir>', 'folder of inputs (searched recursively)')
    .argument('<output-dir>', 'folder for the feature files (created; files already there are skipped)')
    .option('--method <name>', 'the model method to call', 'forward')
    .option('-b, --batch-size <n>', 'inputs per model call', positiveInt, 8)
    .option(
      '--concurrency <n>',
      'batches in the model at once, each with its share of the threads (default 2 on a CPU with 2+ threads, else 1)',
      positiveInt,
    )
    .option(
      '--jit-optimize',
      "let TorchScript optimise the model's graph (Python's default; off by default on a CPU: the same features, no slow first calls)",
    )
    .option(
      '--input-shape <dims>',
      "the model's input after the batch dimension, e.g. 3,224,224 or 16,3,224,224 (default: its input_shape())",
      intList,
    )
    .addOption(
      new Option(
        '--layout <layout>',
        'video input layout: CTHW (JEPA) or TCHW (V-JEPA 2 HF); default from the input shape',
      ).choices(['CTHW', 'TCHW']),
    )
    .addOption(
      new Option(
        '--preset <preset>',
        "preprocessing as a Python pipeline does it (default: the model folder's, see docs/media.md)",
      ).choices(['vjepa2', 'ijepa', 'imagenet-eval', 'clip']),
    )
    .option('--mean <r,g,b>', "normalisation mean (default: the preset's, else ImageNet 0.485,0.456,0.406)", numberList)
    .option('--std <r,g,b>', "normalisation std (default: the preset's, else ImageNet 0.229,0.224,0.225)", numberList)
    .addOption(
      new Option(
        '--fit <fit>',
        'without a preset: cover (short-side resize and centre crop) or fill (stretch)',
      ).choices(['cover', 'fill']),
    )
    .addOption(
      new Option(
        '--sampling <rule>',
        "video frames: clips (V-JEPA's: frames every --frame-step) or uniform (spread over the video)",
      ).choices(['clips', 'uniform']),
    )
    .option('--frame-step <n>', 'video clips: frames between sampled frames (default 4)', positiveInt)
    .option('--fps <n>', 'video clips: sample at this rate instead of --frame-step (V-JEPA 2)', positiveInt)
    .addOption(
      new Option('--start <where>', 'video clips: where the clip starts in the video (default begin)').choices([
        'begin',
        'center',
        'random',
      ]),
    )
    .option('--seed <n>', "video clips with --start random: numpy's seed", nonNegativeInt)
    .option('--dtype <dtype>', 'dtype of the features written', 'float16')
    .option(
      '--input-key <key>',
      'feature-file inputs: the key of the tensor (default features, feature, or the only tensor)',
    )
    .option('--overwrite', 'recompute outputs that already exist')
    .option(
      '--rank <r>',
      'this process takes its share of the inputs (sorted, every world-size-th from r: jepa.distributed.shardFiles; default $RANK or 0)',
      nonNegativeInt,
    )
    .option('--world-size <w>', 'number of processes sharing the inputs (default $WORLD_SIZE or 1)', positiveInt)
    .option('--progress', 'draw the progress bar even when stderr is not a terminal')
    .option('--no-progress', 'no progress bar')
    .option('--device <device>', "model device: 'cpu', 'cuda', 'cuda:N'", 'cpu')
    .option('--threads <n>', 'intra-op threads of libtorch', positiveInt)
    .option('--json', 'print a JSON summary on stdout')
    .action(async (model: string, inputDir: string, outputDir: string, opts: Record<string, unknown>) => {
      const { exitCode } = await extract(model, inputDir, outputDir, opts as never, ctx.io);
      ctx.exitCode = exitCode;
    });
}

function registerDemo(program: Command, ctx: Context): void {
  program
    .command('demo')
    .description(
      "the main job on bundled files: a small V-JEPA 2 encoder extracts seed 000's feature files from a few pictures, reads one back",
    )
    .option('--output <dir>', 'where the feature files go (default: jepa-native-demo in the temporary folder)')
    .action(async (opts: { output?: string }) => {
      ctx.exitCode = await demo(opts, ctx.io);
    });
}

function registerTrain(program: Command, ctx: Context): void {
  program
    .command('train')
    .description(
      'train an exported I-JEPA / V-JEPA / V-JEPA 2 model from a training config in its official YAML shape, as the official loop does',
    )
    .argument(
      '<config>',
      'the YAML config (facebookresearch/ijepa configs/*.yaml, jepa configs/pretrain/*.yaml, vjepa2 configs/train/...)',
    )
    .option('--model <dir>', 'the model folder (jepa.json, or context_encoder.pt, target_encoder.pt, predictor.pt)')
    .option(
      '--data <path>',
      "a folder of images / videos, a list file (a path per line, then a label), or a tensor file [N, C, H, W] / [N, C, T, H, W] (default: the config's data paths)",
    )
    .option('--family <name>', 'the recipe (ijepa, vjepa, vjepa2; default: from the config)')
    .option(
      '--steps-per-epoch <n>',
      'batches per epoch (default: optimization.ipe, else floor(data size / batch_size))',
      positiveInt,
    )
    .option('--epochs <n>', "epochs to train (default: the config's optimization.epochs)", positiveInt)
    .option('--max-steps <n>', 'stop after this many steps (then write the checkpoint)', positiveInt)
    .option('--out <dir>', "folder for the checkpoints and the CSV log (default: the config's logging folder)")
    .option('--resume <file>', 'a checkpoint to continue from (weights, optimizer, step, epoch)')
    .option('--device <device>', "'cpu', 'cuda', 'cuda:N'", 'cpu')
    .option('--threads <n>', 'intra-op threads of libtorch', positiveInt)
    .option('--dry-run', 'print the recipe (every setting, as jepa.readRecipe reads it) and the data, and stop')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (config: string, opts: Record<string, unknown>) => {
      await train(config, opts, ctx.io);
    });
}

function registerBench(program: Command, ctx: Context): void {
  program
    .command('bench')
    .description(
      'run the benchmark scripts (Node and Python on the same data; source checkout only); arguments after -- go to each script',
    )
    .argument('[names...]', 'benchmarks to run (default: all); see --list')
    .option('--list', 'list the benchmarks')
    .action(async (names: string[], opts: { list?: boolean }) => {
      ctx.exitCode = await bench(names, opts, ctx.rest, ctx.io);
    });
}

function registerLaunch(program: Command, ctx: Context): void {
  program
    .command('launch')
    .description(
      "start N processes of a Node script (or of a jepa-native command, e.g. extract) with torchrun's environment for jepa.distributed",
    )
    .argument('<script>', 'a Node script, or a command of jepa-native (extract, ...)')
    .argument('[args...]', 'arguments for the script or command')
    .requiredOption('--nproc <n>', 'processes to start on this machine', positiveInt)
    .option('--master-addr <host>', 'address of the machine that runs rank 0 (default 127.0.0.1)')
    .option('--master-port <port>', 'its port (default: a free port; 29500 with --nnodes > 1)', positiveInt)
    .option(
      '--nnodes <n>',
      'machines in the job, each running launch with its own --node-rank (default 1)',
      positiveInt,
    )
    .option('--node-rank <r>', "this machine's index (default 0)", nonNegativeInt)
    .option(
      '--grace-ms <ms>',
      'after a failure, how long the others get between SIGTERM and SIGKILL (default 5000)',
      nonNegativeInt,
    )
    .passThroughOptions()
    .action(async (script: string, args: string[], opts: Record<string, unknown>) => {
      ctx.exitCode = await launchCommand(script, args, opts as never, COMMAND_NAMES);
    });
}

function registerExport(program: Command, ctx: Context): void {
  program
    .command('export')
    .description(
      'turn an I-JEPA / V-JEPA / V-JEPA 2 / H-JEPA checkpoint or a Hugging Face folder into a model folder (TorchScript + jepa.json); `export --help` lists the sources',
    )
    .usage('SOURCE INPUT OUTDIR [options]')
    .argument('[args...]', 'SOURCE INPUT OUTDIR and the options of the source (passed to the Python exporter)')
    .option('--python <path>', 'the Python with torch that runs the exporter')
    .allowUnknownOption()
    .helpOption(false)
    .passThroughOptions()
    .action(async (args: string[], opts: { python?: string }) => {
      ctx.exitCode = await exportCommand(args, opts, ctx.io);
    });
}

/** The commands, in help order. A new command is a function here. */
const COMMANDS = [
  registerInspect,
  registerConvert,
  registerMasks,
  registerExtract,
  registerTrain,
  registerExport,
  registerDemo,
  registerBench,
  registerLaunch,
  registerMotion,
  registerZeroShot,
];
const COMMAND_NAMES = ['inspect', 'convert', 'masks', 'extract', 'train', 'bench'];

const EXIT_HELP = `
Exit codes:
  0  done
  1  error (a file could not be read or written, a model failed, ...)
  2  bad command line (unknown command or option, bad argument)
  3  extract finished, but some inputs were bad and were skipped (see OUTPUT_DIR/failed.txt)

Docs: docs/cli.md`;

/** Builds the program (exported for tests and for embedding). */
export function buildProgram(ctx: Context): Command {
  const program = new Command('jepa-native')
    .description('jepa-native: JEPA models with libtorch from Node.js; files, masks and feature extraction')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) })
    .addHelpText('after', EXIT_HELP)
    .enablePositionalOptions();
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Runs the command line `argv` (as `process.argv`: node, script, ...args); returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let args = argv;
  let rest: string[] = [];
  const dashes = argv.indexOf('--');
  if (argv[2] === 'bench' && dashes >= 0) {
    args = argv.slice(0, dashes);
    rest = argv.slice(dashes + 1);
  }
  const ctx: Context = { io, exitCode: EXIT.OK, rest };
  const program = buildProgram(ctx);
  if (args.length <= 2) {
    program.outputHelp({ error: true });
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(args);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end with code 0; every other commander error is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof CliError) {
      io.err(`jepa-native: ${e.exitCode === EXIT.USAGE ? 'usage error' : 'error'}: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`jepa-native: error: ${errorText(e)}\n`);
    return EXIT.ERROR;
  }
}

// Parsers exported for tests.
export { finiteNumber, intList, numberList, positiveInt, sizeArg };
