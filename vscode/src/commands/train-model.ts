// "DermLens: Train a model...": `dermlens train` as a VS Code task (its progress lines and ETA in the
// task's terminal). Terminating the task stops the run; every finished epoch is checkpointed, so the
// same command on the same run folder offers to continue it (--resume).
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CHECKPOINT_DIR } from '../../../trainer/run/layout.ts';
import { configuredCli } from '../host/settings.ts';

export interface TrainDefinition extends vscode.TaskDefinition {
  type: 'dermlens';
  data?: string;
  out: string;
  resume?: boolean;
  args?: string[];
}

/** The task for a definition (also what tasks.json entries of type "dermlens" run). */
export function trainTask(definition: TrainDefinition, scope: vscode.WorkspaceFolder): vscode.Task {
  const [program, ...cli] = configuredCli();
  const args = [...cli, 'train', '--out', definition.out];
  if (definition.resume) args.push('--resume');
  else if (definition.data) args.push('--data', definition.data);
  args.push(...(definition.args ?? []));
  const name = `${definition.resume ? 'resume' : 'train'} ${definition.out}`;
  const task = new vscode.Task(definition, scope, name, 'dermlens', new vscode.ProcessExecution(program, args, { cwd: scope.uri.fsPath }));
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  return task;
}

export const trainTaskProvider: vscode.TaskProvider = {
  provideTasks: () => [],
  resolveTask(task) {
    const scope = task.scope && typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    return scope ? trainTask(task.definition as TrainDefinition, scope) : undefined;
  },
};

export function trainModelCommand() {
  return async (): Promise<vscode.TaskExecution | undefined> => {
    const scope = vscode.workspace.workspaceFolders?.[0];
    if (!scope) {
      void vscode.window.showErrorMessage('DermLens: open the folder to train in first (File > Open Folder).');
      return undefined;
    }
    const out = await vscode.window.showInputBox({
      title: 'DermLens: train a model (1/2)',
      prompt: 'Run folder (relative to the workspace); an existing run there can be continued',
      value: `runs/run-${new Date().toISOString().slice(0, 10)}`,
    });
    if (!out) return undefined;
    const outPath = isAbsolute(out) ? out : join(scope.uri.fsPath, out);
    let resume = false;
    if (existsSync(join(outPath, CHECKPOINT_DIR))) {
      const choice = await vscode.window.showQuickPick(['Continue this run from its last checkpoint (--resume)', 'Cancel'], {
        title: `${out} already has a checkpoint`,
      });
      if (!choice || choice === 'Cancel') return undefined;
      resume = true;
    }
    let data: string | undefined;
    let args: string[] = [];
    if (!resume) {
      data = await pickDataFolder();
      if (!data) return undefined;
      const options = await vscode.window.showInputBox({
        title: 'DermLens: train a model (3/3)',
        prompt: 'More dermlens train options, e.g. --arch mobilenetv2 --size 128 --epochs 15 (empty: the original recipe)',
        value: '',
      });
      if (options === undefined) return undefined;
      args = options.split(/\s+/).filter(Boolean);
    }
    return vscode.tasks.executeTask(trainTask({ type: 'dermlens', out, data, resume, args }, scope));
  };
}

const BROWSE = 'Choose another folder...';

/** The HAM10000 folders in the workspace (those holding HAM10000_metadata.csv), or one chosen in a dialog. */
async function pickDataFolder(): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/HAM10000_metadata.csv', '**/node_modules/**', 20);
  const folders = found.map((uri) => vscode.Uri.joinPath(uri, '..').fsPath).sort();
  const choice = folders.length
    ? await vscode.window.showQuickPick([...folders, BROWSE], { title: 'DermLens: train a model (2/3): the HAM10000 folder' })
    : BROWSE;
  if (choice !== BROWSE) return choice;
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: false,
    canSelectFolders: true,
    title: 'DermLens: train a model (2/3): the HAM10000 folder (HAM10000_metadata.csv and the images below it)',
    openLabel: 'Train on this folder',
  });
  return picked?.[0]?.fsPath;
}
