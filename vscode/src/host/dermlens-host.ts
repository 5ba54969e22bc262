// What every command shares: the warm model (ModelCache), resolved from the current setting, and the
// extension's own folder (where dist/ holds the model, the webview bundles and the .wasm files).
import * as vscode from 'vscode';
import { join } from 'node:path';
import { ModelCache, resolveModelJson, type LoadedModel } from './model-host.ts';
import { configuredModelPath, MODEL_PATH_SETTING } from './settings.ts';

export class DermlensHost implements vscode.Disposable {
  readonly models: ModelCache;

  constructor(readonly extensionUri: vscode.Uri) {
    this.models = new ModelCache(join(extensionUri.fsPath, 'dist'));
  }

  /** The model of the current setting, loaded once and kept warm; ModelPathError naming the path when it is not a model. */
  async model(): Promise<LoadedModel> {
    return this.models.get(await resolveModelJson(configuredModelPath(this.extensionUri), MODEL_PATH_SETTING));
  }

  dispose(): void {
    this.models.dispose();
  }
}
