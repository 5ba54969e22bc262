// permission.html: asks for camera access in a normal tab (see components/camera-permission.ts).
import './components/camera-permission.ts';

const page = document.querySelector('dermlens-camera-permission');
if (page) void page.request();
