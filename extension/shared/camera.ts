// Camera helpers shared by the popup's camera view and the permission page.
import { browserName, type BrowserName } from './browser-name.ts';

export type CameraFailure = 'denied' | 'no-camera' | 'busy' | 'error';

/** Maps a getUserMedia rejection to what the user can do about it. */
export function classifyCameraError(error: unknown): CameraFailure {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return 'no-camera';
  if (name === 'NotReadableError' || name === 'AbortError' || name === 'TrackStartError') return 'busy';
  return 'error';
}

export const CAMERA_MESSAGES: Record<CameraFailure, string> = {
  denied:
    'Camera access is blocked for DermLens. To allow it, open chrome://settings/content/camera ' +
    '(Settings > Privacy and security > Site settings > Camera), find DermLens under "Not allowed to use your camera" ' +
    'and remove it, then try again. If you chose "Allow this time", Chrome forgets that when the page closes; ' +
    'choose "Allow on every visit". You can always upload a photo instead.',
  'no-camera': 'No camera was found on this computer. Connect one and try again, or upload a photo instead.',
  busy: 'The camera is in use by another application (or could not be started). Close that application and try again.',
  error: 'The camera could not be started.',
};

/**
 * CAMERA_MESSAGES in the words of the browser the user has: where to unblock the camera differs. Firefox
 * keeps the camera permission of the add-on's moz-extension:// address with the websites' ones.
 */
export function cameraMessages(browser: BrowserName = browserName()): Record<CameraFailure, string> {
  if (browser === 'Chrome') return CAMERA_MESSAGES;
  return {
    ...CAMERA_MESSAGES,
    denied:
      'Camera access is blocked for DermLens. To allow it, open Firefox Settings > Privacy & Security > Permissions > ' +
      'Camera > Settings…, select the moz-extension:// address marked "Block" and click "Remove Website", then try again. ' +
      'If you allowed it without ticking "Remember this decision", Firefox forgot it when the tab closed. ' +
      'You can always upload a photo instead.',
  };
}

/**
 * What a refused getUserMedia means. Firefox refuses it in the popup at once (NotAllowedError, no prompt)
 * unless the add-on holds a remembered camera permission: unless the user blocked the camera, that is
 * "not granted yet", and the permission page is the way on.
 */
export function cameraRefusal(
  error: unknown,
  permission: PermissionState | 'unknown',
  browser: BrowserName = browserName(),
): CameraFailure | 'needs-permission' {
  const failure = classifyCameraError(error);
  return failure === 'denied' && permission !== 'denied' && browser === 'Firefox' ? 'needs-permission' : failure;
}

/** The camera permission state, or 'unknown' where the Permissions API cannot tell. */
export async function queryCameraPermission(): Promise<PermissionState | 'unknown'> {
  try {
    return (await navigator.permissions.query({ name: 'camera' as PermissionName })).state;
  } catch {
    return 'unknown';
  }
}

export const CAMERA_CONSTRAINTS: MediaStreamConstraints = {
  audio: false,
  video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 960 } },
};

export function stopStream(stream: MediaStream | null | undefined): void {
  stream?.getTracks().forEach((track) => track.stop());
}
