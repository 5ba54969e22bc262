// permission.html: asks for camera access in a normal tab (see components/dermlens-camera-permission.ts).
import './components/dermlens-camera-permission.ts';

const page = document.querySelector('dermlens-camera-permission');
if (page) void page.request();
