// The values the `cmtMemory.*` settings accept, derived from the engine's own lists (pure: no `vscode`
// import, so a unit test can check package.json's enums against them).
import { ANSWER_MODES, DEVICES, type Device } from '../core/types';

/**
 * `cmtMemory.device`: every engine device but `webgpu` (onnxruntime-node's WebGPU provider is
 * experimental; the CLI's --device offers it, the editor does not). A settings value outside this
 * list falls back to `auto`.
 */
export const EDITOR_DEVICES: readonly Device[] = DEVICES.filter((d) => d !== 'webgpu');

/** `cmtMemory.answerMode`: `default` (the pack's choice) then the engine's ANSWER_MODES. */
export const EDITOR_ANSWER_MODES = ['default', ...ANSWER_MODES] as const;
