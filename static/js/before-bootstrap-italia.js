/* Loaded just before bootstrap-italia.bundle.min.js. Our Content-Security-Policy allows styles only
   from our own files (style-src 'self'), so nothing may inject a <style> element:
   - video.js (inside the bundle) writes default player styles into <head> unless told not to;
   - Bootstrap Italia's loadFonts() does the same with @font-face rules: we never call it, the faces
     are in static/css/fonts.css. */
window.VIDEOJS_NO_DYNAMIC_STYLE = true;
