; Inno Setup 6 script: the Windows installer (built on Windows after workstation-win.spec).
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\workstation.iss
; Output: dist\motion-dataset-workstation-0.1.0-setup.exe (per-user install, no admin rights).
; packaging\windows\workstation.ico is made from workstation\resources\icons\*.png
; (e.g. `magick org.motiondataset.Workstation-{16,32,48,256}.png workstation.ico`).

#define AppName "Motion Dataset Workstation"
#define AppVersion "0.1.0"

[Setup]
AppId={{6E0C3F4A-8D7B-4C51-9A2E-2F3B5D7C9E10}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Motion Dataset Workstation developers
DefaultDirName={localappdata}\Programs\MotionDatasetWorkstation
DefaultGroupName={#AppName}
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=motion-dataset-workstation-{#AppVersion}-setup
SetupIconFile=workstation.ico
Compression=lzma2
SolidCompression=yes
LicenseFile=..\..\LICENSE

[Files]
; the PyInstaller folder, libmpv-2.dll and bin\uv.exe included
Source: "..\..\dist\workstation\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\workstation.exe"
Name: "{userdesktop}\{#AppName}"; Filename: "{app}\workstation.exe"; Tasks: desktopicon

[Tasks]
Name: desktopicon; Description: "Create a desktop shortcut"; Flags: unchecked

[Run]
Filename: "{app}\workstation.exe"; Description: "Open {#AppName} on the demo project"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; the training environment lives in the user's data folder and is kept (it can be 6 GB: remove
; it with `workstation setup-training --remove` before uninstalling)
