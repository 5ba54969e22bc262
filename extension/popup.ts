// popup.html: defines <dermlens-popup> (already in the page) and asks the service worker to start the
// model right away, so it is warm by the time the user has picked a photo.
import './components/dermlens-popup.ts';
import { warmUpModel } from './shared/client.ts';

warmUpModel();
